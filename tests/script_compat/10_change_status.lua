-- Turn an upstream 500 into a 503.
-- @response-header: :status: 500
-- @expect: continue
-- @expect-status: 503
function envoy_on_response(handle)
  if handle:headers():get(":status") == "500" then
    handle:headers():replace(":status", "503")
  end
end
