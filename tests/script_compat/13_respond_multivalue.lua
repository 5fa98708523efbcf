-- A reply header given as a list sends each value.
-- @expect: respond
-- @expect-status: 302
-- @expect-reply-header: location: https://login.example.com/
-- @expect-reply-header: set-cookie: a=1
-- @expect-reply-header: set-cookie: b=2
function envoy_on_request(handle)
  handle:respond({[":status"] = "302", ["location"] = "https://login.example.com/",
                  ["set-cookie"] = {"a=1", "b=2"}})
end
