"""Training: the composed GAN step (:mod:`.step`) and the trainer around it."""
