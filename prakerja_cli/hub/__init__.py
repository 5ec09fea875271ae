"""The office hub: desks of one office sync to it over the LAN; it forwards upstream."""
