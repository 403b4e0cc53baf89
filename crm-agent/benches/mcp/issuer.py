"""A minimal OAuth issuer for run.sh's JWT measurement: RFC 8414 metadata and a key set (one
RS256 key, made at start) on 127.0.0.1:PORT, and one access token signed with it, printed as the
first line of standard output: for USER, naming RESOURCE as its audience, with both crm scopes,
valid for a day. crm-agent reads the metadata and keys once, at start; the load then measures
only how crm-agent handles a JWT per request."""

from __future__ import annotations

import argparse
import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jwcrypto import jwk, jwt


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--resource", required=True)
    parser.add_argument("--user", default="acme-owner")
    args = parser.parse_args()
    issuer = f"http://127.0.0.1:{args.port}"
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="bench", alg="RS256", use="sig")
    now = int(time.time())
    claims = {"iss": issuer, "aud": args.resource, "sub": args.user, "scope": "crm:read crm:write"}
    token = jwt.JWT(header={"alg": "RS256", "kid": "bench"}, claims={**claims, "iat": now, "exp": now + 86400})
    token.make_signed_token(key)
    documents = {
        "/.well-known/oauth-authorization-server": {"issuer": issuer, "jwks_uri": f"{issuer}/jwks"},
        "/jwks": {"keys": [json.loads(key.export_public())]},
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            document = documents.get(self.path)
            body = json.dumps(document).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(token.serialize(), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
