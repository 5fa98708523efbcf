-- Response headers can no longer change once the body streams on.
-- @response-body: abcdefgh
-- @fail-open: true
-- @expect: error
-- @expect-error: header map can no longer be modified
function envoy_on_response(handle)
  for chunk in handle:bodyChunks() do end
  handle:headers():add("x-late", "1")
end
