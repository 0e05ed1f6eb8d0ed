// The ES module entry: re-exports the CommonJS build, so `import` and `require` share one module
// instance (one `Limitr` and one `LimitrError` class: no dual-package hazard).
import { Limitr, LimitrError, errorCodes } from '../cjs/index.js';

export { Limitr, LimitrError, errorCodes };
export default Limitr;
