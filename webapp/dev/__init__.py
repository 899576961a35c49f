"""For development and demos only: demo data and a fake camera; nothing here serves.

Its dependencies (Faker, Pillow) come with the ``demo`` extra, which a production install
leaves out; the commands that use this package (seed-demo, fake-camera) need it.
"""
