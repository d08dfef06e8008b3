"""Custom Rasa NLU components: the sentence encoder, a similarity gate, and DIET and the
ResponseSelector loaded for answering only."""
