"""Accelerator families: each is one folder (``hwsim.families.<name>``)."""
