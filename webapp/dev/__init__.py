"""For development and demos only: demo data and a fake camera; nothing here serves."""
