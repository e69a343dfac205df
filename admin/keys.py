"""Creating API keys: the one place a secret exists in clear, returned once."""

from models import ApiKey, User, db
from models.security import display_prefix, hash_key, new_api_key


def create_key(user: User, name: str = "") -> tuple[str, ApiKey]:
    with db.atomic():
        while True:
            secret = new_api_key()
            if not ApiKey.select().where(ApiKey.prefix == display_prefix(secret)).exists():
                break
        key = ApiKey.create(user=user, name=name, prefix=display_prefix(secret),
                            secret_hash=hash_key(secret))
    return secret, key
