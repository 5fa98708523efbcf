-- Iterate dynamic metadata namespaces.
-- @expect: continue
-- @expect-log: info ns a=1 b=2
function envoy_on_request(handle)
  local dm = handle:streamInfo():dynamicMetadata()
  dm:set("a", "v", 1)
  dm:set("b", "v", 2)
  local parts = {}
  for ns, t in pairs(dm) do parts[#parts + 1] = ns .. "=" .. t.v end
  handle:logInfo("ns " .. table.concat(parts, " "))
end
