-- The log methods.
-- @expect: continue
-- @expect-log: warn slow client
-- @expect-log: err something odd
function envoy_on_request(handle)
  handle:logDebug("debugging")
  handle:logWarn("slow client")
  handle:logErr("something odd")
end
