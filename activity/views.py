from django.shortcuts import render

from accounts.decorators import org_admin_required


@org_admin_required
def activity_tab(request):
    return render(request, "dashboard/activity.html", {"active_tab": "activity"})
