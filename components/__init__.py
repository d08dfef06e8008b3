"""Custom Rasa NLU components: the sentence encoder, a similarity gate, and DIET and the
ResponseSelector trained faster and loaded for answering only."""
