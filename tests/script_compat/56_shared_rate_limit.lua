-- Beyond Envoy: a tiny fixed-window limit with a TTL.
-- @runs: 4
-- @expect: respond
-- @expect-status: 429
function envoy_on_request(handle)
  local key = "compat-56:" .. handle:streamInfo():downstreamDirectRemoteAddress()
  local n = gatehouse.shared:incr(key, 1, 0, 60)
  if n > 3 then
    handle:respond({[":status"] = "429", ["retry-after"] = "60"}, "slow down")
  end
end
