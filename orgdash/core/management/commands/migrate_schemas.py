from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand

from orgdash.core.spare_schemas import spare_schemas_discard_stale


class Command(MigrateSchemasCommand):
    help = MigrateSchemasCommand.help + " Over every org, also drops the spare org schemas behind the migrations."

    def handle(self, *args, **options):
        super().handle(*args, **options)
        if self.sync_tenant and not options["schema_name"]:
            # Spares are not orgs, so the loop above left them as they were; the pool is refilled
            # from the template, which is brought up to date first.
            discarded = spare_schemas_discard_stale()
            if discarded and options["verbosity"]:
                self.stdout.write(f"{discarded} spare org schemas behind the migrations dropped")
