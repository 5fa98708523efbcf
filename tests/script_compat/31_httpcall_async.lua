-- Envoy docs: a fire-and-forget call (asynchronous = true) does not wait.
-- @expect: continue
-- @expect-http-call: backend /audit
-- @expect-upstream-header: x-audited: 1
function envoy_on_request(handle)
  handle:httpCall("backend", {[":method"] = "POST", [":path"] = "/audit", [":authority"] = "backend"},
                  "event", 0, true)
  handle:headers():add("x-audited", "1")
end
