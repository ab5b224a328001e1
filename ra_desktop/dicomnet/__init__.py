"""RA Desktop as a DICOM node (pynetdicom), below the Qt layer.

Nothing here opens a socket on import. The listener opens only when the user enables it (Settings
or ``ra-desktop listen``); outgoing associations go only to nodes the user configured.

    inbox.py     received instances written atomically into the user data folder, deduplicated by
                 SOP Instance UID, checked by the hardened loader before they reach the worklist
    listener.py  store SCP (C-ECHO, C-STORE), calling-AE allow-list, start/stop from any thread
    nodes.py     remote nodes (AE title, host, port) and C-ECHO
    query.py     C-FIND at study level and the patient's priors
    retrieve.py  C-GET and C-MOVE retrieval with progress and cancel
    send.py      C-STORE of our results and images to a configured node
"""
