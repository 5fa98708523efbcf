-- timestamp() in milliseconds.
-- @expect: continue
-- @expect-upstream-header: x-ts-ok: true
function envoy_on_request(handle)
  local ts = handle:timestamp()
  handle:headers():add("x-ts-ok", tostring(ts > 1600000000000))
end
