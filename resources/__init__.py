"""Data files shipped with landscape-gui (icons, colour maps, example sessions)."""
