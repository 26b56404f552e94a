"""An add-on that cannot even be imported."""

raise ImportError("this add-on needs a library that is not installed")
