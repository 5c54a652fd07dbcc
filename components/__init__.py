"""Reusable UI pieces. Each takes library objects as arguments and draws them.

Components never open the registry and never read or write session state: the apps
own state, caching and routing, and pass in what a component shows.
"""
