"""The price catalog as the operator edits it: a model added or its prices changed, each value
checked once; what the gateway prices new requests with."""

from __future__ import annotations

from peewee import IntegrityError

from models import ModelPrice

from . import values

# The prices a model's form edits, in USD per million tokens.
PRICE_FIELDS = ("input_per_mtok", "output_per_mtok", "cache_read_per_mtok",
                "cache_write_per_mtok")


def save_model(model: ModelPrice | None, form, providers: set[str]) -> ModelPrice:
    """A new model (`model` None: its name and a provider of `providers` needed) or a model's
    new prices, from the form's values as typed."""
    if model is None:
        model = ModelPrice(model=(form.get("model") or "").strip(),
                           provider=form.get("provider") or "",
                           display_name=(form.get("display_name") or "").strip())
        if not model.model or len(model.model) > 255 or model.provider not in providers:
            raise values.Invalid("a model needs a name and a provider")
        if len(model.display_name) > 255:
            raise values.Invalid("a display name has at most 255 characters")
    for f in PRICE_FIELDS:
        setattr(model, f, values.price(form.get(f), f.removesuffix("_per_mtok")
                                       .replace("_", " ") + " price"))
    try:
        model.save()
    except IntegrityError:
        raise values.Invalid("it is in the catalog already") from None
    return model
