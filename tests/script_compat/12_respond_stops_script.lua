-- No code after respond() runs.
-- @expect: respond
-- @expect-status: 200
-- @expect-upstream-header-absent: x-after-respond
function envoy_on_request(handle)
  handle:respond({[":status"] = "200"}, "ok")
  handle:headers():add("x-after-respond", "1")
end
