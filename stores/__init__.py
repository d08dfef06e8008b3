"""Conversation stores of the Rasa server (lock store shared by its workers)."""
