"""The graph inspector's pure parts: a definition's layout, its SVG, what an execution did in
each state, and the pages. Nothing here does I/O; `api.routes.inspector` feeds them."""
