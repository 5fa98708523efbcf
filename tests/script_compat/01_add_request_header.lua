-- Envoy docs: the basic header rewrite on the request path.
-- @expect: continue
-- @expect-upstream-header: foo: bar
function envoy_on_request(request_handle)
  request_handle:headers():add("foo", "bar")
end
