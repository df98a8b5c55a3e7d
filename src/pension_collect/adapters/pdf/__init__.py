"""The built-in PDF renderers (docs/forms.md): everything that needs reportlab.

:mod:`pension_collect.adapters.pdf.plugin` registers the ``verification``,
``confirmation`` and ``summary`` renderers; reportlab and segno (the ``pdf``
extra) are imported only when a form is drawn.
"""
