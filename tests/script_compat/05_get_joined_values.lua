-- get() joins repeated values with ",".
-- @request-header: accept: text/html
-- @request-header: accept: application/json
-- @expect: continue
-- @expect-upstream-header: x-accept-all: text/html,application/json
function envoy_on_request(handle)
  handle:headers():add("x-accept-all", handle:headers():get("accept"))
end
