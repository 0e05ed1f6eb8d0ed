// Stands in for the napi addon (`#native`) in the WASM bundles: they never load native code.
const missing = new Proxy(
  {},
  {
    get(_target, name) {
      throw new Error(`limitr: the WASM build has no native addon (\`${String(name)}\`)`);
    },
  },
);
export default missing;
