-- Metadata set on the request is readable on the response.
-- @expect: continue
-- @expect-client-header: x-started: 12345
function envoy_on_request(handle)
  handle:streamInfo():dynamicMetadata():set("timing", "start", "12345")
end
function envoy_on_response(handle)
  local md = handle:streamInfo():dynamicMetadata():get("timing")
  handle:headers():add("x-started", md["start"])
end
