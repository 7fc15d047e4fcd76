"""`# needs: httpd` for MicroPython test scripts: a loopback HTTP/1.1 server for GET and POST.

The recording server of host_tests/servers.py with two fixed routes. Environment given to
the script:
  HTTP_PORT   its port on 127.0.0.1
  GET /hello  -> 200 "hello from httpd\\n" (text/plain)
  GET /json   -> 200 {"answer": 42, "items": [1, 2, 3]} (application/json)
  POST <any>  -> 200 {"sha256": <hex of the body received>, "length": <its length>}
  GET /status/<code>, /bytes/<n>?seed=<s>, /chunked/<n>, ... (see servers.py)
"""

import json

from host_tests.servers import start_http_server

HELLO = b"hello from httpd\n"
JSON_DOC = {"answer": 42, "items": [1, 2, 3]}


def start_httpd():
    """The server with the /hello and /json routes (also used by tools/demo.py)."""
    server = start_http_server()
    server.set_response("/hello", 200, HELLO, {"Content-Type": "text/plain"})
    server.set_response("/json", 200, json.dumps(JSON_DOC).encode(),
                        {"Content-Type": "application/json"})
    return server


def provide(request):
    server = start_httpd()
    request.addfinalizer(server.stop)
    return {"HTTP_PORT": str(server.port)}
