"""romcam: a range-of-motion coach for people with ALS and those who care for them."""

__version__ = "0.1.0"
