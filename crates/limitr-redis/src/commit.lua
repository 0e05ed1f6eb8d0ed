-- One commit of a decision over the customers of one call, atomically.
-- KEYS: the customers' hashes (field `r`: the record JSON, field `v`: its version, which only grows;
-- a removed customer keeps `v` and loses `r`).
-- ARGV: for each key, the version the decision read (`-` when it read no customer), then for each
-- key its post-image (empty when the decision left it unchanged).
-- Answer: {1, version, ...} when every version still matches (post-images written, their versions
-- bumped), else {0, version, record, ...} with the fresh state of every key (record empty when
-- the customer does not exist), and nothing written.
local function commit(keys, args)
  local n = #keys
  local fresh = true
  for i = 1, n do
    local h = redis.call('HMGET', keys[i], 'v', 'r')
    local seen = '-'
    if h[2] then seen = h[1] end
    if seen ~= args[i] then
      fresh = false
      break
    end
  end
  if not fresh then
    local out = {0}
    for i = 1, n do
      local h = redis.call('HMGET', keys[i], 'v', 'r')
      out[#out + 1] = h[1] or '0'
      out[#out + 1] = h[2] or ''
    end
    return out
  end
  local out = {1}
  for i = 1, n do
    local post = args[n + i]
    if post ~= '' then
      redis.call('HSET', keys[i], 'r', post)
      out[#out + 1] = tostring(redis.call('HINCRBY', keys[i], 'v', 1))
    elseif args[i] == '-' then
      out[#out + 1] = '0'
    else
      out[#out + 1] = args[i]
    end
  end
  return out
end

-- Removes a customer (KEYS[1]): its record goes, its version is bumped and kept (so a cached copy
-- of the removed customer can never match a customer created again under the same id).
-- Answer: the removed record, or empty when there was none.
local function remove(keys, args)
  local r = redis.call('HGET', keys[1], 'r')
  if not r then
    return ''
  end
  redis.call('HDEL', keys[1], 'r')
  redis.call('HINCRBY', keys[1], 'v', 1)
  return r
end
