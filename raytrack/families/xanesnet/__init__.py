"""XANESNET: structure ↔ X-ray absorption spectrum, six model modes."""
