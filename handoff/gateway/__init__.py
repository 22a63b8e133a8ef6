"""Where customers come in: the widget's socket, its resume tokens and transcript downloads."""
