"""The app's screens: chat, router settings, model browser, and the dialogs they open."""
