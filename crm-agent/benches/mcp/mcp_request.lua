-- wrk script: POST one MCP JSON-RPC request (MCP_BODY) with a bearer token (MCP_TOKEN), as a
-- stateless Streamable HTTP client does. Used by run.sh.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("MCP_TOKEN")
wrk.body = os.getenv("MCP_BODY")
-- MCP_ACCEPT_ENCODING=gzip asks for a compressed answer, as the official Python client does.
local encoding = os.getenv("MCP_ACCEPT_ENCODING")
if encoding ~= nil and encoding ~= "" then
    wrk.headers["Accept-Encoding"] = encoding
end
