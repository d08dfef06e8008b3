"""The assistant's core: the clinic, the hand-off decision, the limits, the settings.

Every other package (actions, channels, components, stores, web, retrain, bench) may
import it; it imports no other part of the project (`make lint` checks this, .importlinter).
"""
