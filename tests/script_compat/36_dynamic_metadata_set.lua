-- Envoy docs: set dynamic metadata for later filters and the access log.
-- @request-header: x-tenant: acme
-- @expect: continue
-- @expect-dynamic-metadata: envoy.filters.http.lua tenant acme
function envoy_on_request(handle)
  handle:streamInfo():dynamicMetadata():set("envoy.filters.http.lua", "tenant",
    handle:headers():get("x-tenant"))
end
