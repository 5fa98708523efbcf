-- Regression (found by script_fuzzer): a table constructor entry without a name gives a number
-- key; converting the key lua_next holds broke the traversal and the error named no script.
function envoy_on_request(h)
  h:httpCall("auth", {("authorization"), [":method"] = "GET", [":path"] = "/", [":authority"] = "a"}, "", 5000)
end
