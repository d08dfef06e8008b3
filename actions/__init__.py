"""Custom actions of the clinic's dry needling assistant."""
