"""The clinic's web page: its static page server and the socket.io channel of its chat widget."""
