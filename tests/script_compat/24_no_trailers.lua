-- trailers() is nil when the message has none.
-- @expect: continue
-- @expect-log: info trailers nil
function envoy_on_request(handle)
  handle:logInfo("trailers " .. tostring((handle:trailers())))
end
