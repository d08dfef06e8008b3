"""Safe retraining for clinic staff: edit FAQs, learn from real questions, gate new models.

Run it through make (see docs/retraining.md) or as `python -m retrain <command>`.
"""
