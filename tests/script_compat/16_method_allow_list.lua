-- Only safe methods pass.
-- @request: DELETE /items/1
-- @expect: respond
-- @expect-status: 405
-- @expect-reply-header: allow: GET, HEAD
local allowed = {GET = true, HEAD = true}
function envoy_on_request(handle)
  if not allowed[handle:headers():get(":method")] then
    handle:respond({[":status"] = "405", ["allow"] = "GET, HEAD"}, "")
  end
end
