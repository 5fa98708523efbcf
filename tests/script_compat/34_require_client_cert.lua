-- Without a client certificate, refuse (connection():ssl() is nil on plaintext).
-- @expect: respond
-- @expect-status: 403
function envoy_on_request(handle)
  local ssl = handle:connection():ssl()
  if ssl == nil or not ssl:peerCertificateValidated() then
    handle:respond({[":status"] = "403"}, "client certificate required")
  end
end
