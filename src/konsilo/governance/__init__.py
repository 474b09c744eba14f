"""Pure governance rules: the council graph, apportionment, census and policies."""
