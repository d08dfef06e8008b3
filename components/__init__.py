"""Custom Rasa NLU components: a compiled sentence encoder and a similarity gate."""
