-- :status is readable on the response path.
-- @response-header: :status: 404
-- @expect: continue
-- @expect-status: 404
-- @expect-client-header: x-was-404: yes
function envoy_on_response(handle)
  if handle:headers():get(":status") == "404" then
    handle:headers():add("x-was-404", "yes")
  end
end
