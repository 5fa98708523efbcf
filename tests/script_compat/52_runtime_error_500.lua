-- A runtime error answers 500 with x-gatehouse-reason: lua_error.
-- @expect: error
-- @expect-status: 500
-- @expect-reply-header: x-gatehouse-reason: lua_error
-- @expect-error: attempt to call field 'missing' (a nil value)
local t = {}
function envoy_on_request(handle)
  t.missing()
end
