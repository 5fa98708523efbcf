-- respond() is a request-path call.
-- @expect: error
-- @expect-error: respond not currently supported in the response path
function envoy_on_response(handle)
  handle:respond({[":status"] = "200"}, "")
end
